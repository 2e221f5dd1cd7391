# cnlab world: ~/.bashrc of the learner's home inside the world.
# Every shell of the world (nested ones too) reads it; keep it small and fast.
alias ls='ls --color=auto'
alias grep='grep --color=auto'
alias ip='ip -color=auto'
