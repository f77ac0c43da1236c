# parse stage: rules are added by the parse issue.
