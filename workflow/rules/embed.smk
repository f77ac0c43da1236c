# embed stage: rules are added by the embed issue.
