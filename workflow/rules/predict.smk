# predict stage: rules are added by the predict issue.
