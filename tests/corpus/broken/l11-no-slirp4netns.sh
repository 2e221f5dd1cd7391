# lesson: 11
# cause: slirp-missing
# base: base11
# The namespace was made as learner, but nothing connects it: only lo inside.
true
