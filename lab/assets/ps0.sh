# cnlab world: expanded (as PS0) after a command is read and before it runs;
# records what the learner typed, in the order typed, nested shells included.
__cnlab_cmd=$(HISTTIMEFORMAT= history 1 | sed 's/^ *[0-9]* *//')
__cnlab_here=$(ip netns identify 2>/dev/null)
printf '%s\t%s\tcmd\t%s\n' "${EPOCHREALTIME:-0}" "${__cnlab_here:-${CNLAB_HOME_NS:-host}}" "$__cnlab_cmd" >> "$CNLAB_DIR/events"
