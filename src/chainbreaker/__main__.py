from chainbreaker.cli import main

main()
