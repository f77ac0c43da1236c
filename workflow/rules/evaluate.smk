# evaluate stage: rules are added by the evaluate issue.
