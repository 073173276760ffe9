"""python -m lakemend"""

from lakemend.cli.app import main

main()
