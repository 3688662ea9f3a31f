from deprecator.cli import main

main()
