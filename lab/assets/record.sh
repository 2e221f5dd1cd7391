# cnlab world: BASH_ENV of a script the lab runs as the learner would type it
# (`cnlab solve`): every bash of it, nested ones too, records its commands in the
# world's events file like an interactive shell's PS0 and prompt do (lab/record.py).
__cnlab_rns=$(ip netns identify 2>/dev/null)
__cnlab_rns=${__cnlab_rns:-${CNLAB_HOME_NS:-host}}
__cnlab_waiting=
__cnlab_rec() {
  if [ -n "$__cnlab_waiting" ]; then
    printf '%s\t%s\tdone\t%s\n' "${EPOCHREALTIME:-0}" "$__cnlab_rns" "$1" >> "$CNLAB_DIR/events"
  fi
  __cnlab_waiting=${2:+1}
  if [ -n "$2" ]; then
    printf '%s\t%s\tcmd\t%s\n' "${EPOCHREALTIME:-0}" "$__cnlab_rns" "$2" >> "$CNLAB_DIR/events"
  fi
  return 0
}
trap '__cnlab_rec "$?" ""' EXIT
# The EXIT trap ends the last command: bash runs the DEBUG trap again before it, with
# the last command's text and the trap's own line number (smaller), which only ends it.
trap '__cnlab_rec "$?" ""' EXIT
trap '__cnlab_st=$?
case $BASH_COMMAND in
  __cnlab*) ;;
  *) if [ "$BASH_COMMAND" = "${__cnlab_last-}" ] && [ "$LINENO" -lt "${__cnlab_line:-0}" ]; then
       __cnlab_rec "$__cnlab_st" ""
     else
       __cnlab_last=$BASH_COMMAND; __cnlab_line=$LINENO; __cnlab_rec "$__cnlab_st" "$BASH_COMMAND"
     fi ;;
esac' DEBUG
