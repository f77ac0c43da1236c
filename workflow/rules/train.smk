# train stage: rules are added by the train issue.
