import sys

from ._demo import main

sys.exit(main())
