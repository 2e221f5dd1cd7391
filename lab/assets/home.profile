# cnlab world: ~/.profile of the learner's home, read by login shells.
if [ -n "${BASH_VERSION-}" ] && [ -f "$HOME/.bashrc" ]; then
  . "$HOME/.bashrc"
fi
