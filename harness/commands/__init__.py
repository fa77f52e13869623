"""The commands, one module each: parse, check, dispatch. They run in the parent
process, which never imports keras or a framework."""
