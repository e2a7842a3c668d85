from chaoskit.cli import main

main(prog_name="chaoskit")  # so that shell completion's variable is _CHAOSKIT_COMPLETE here too
