from olive.cli import main

main()
