"""python -m lakemend"""

from lakemend.cli import main

main()
