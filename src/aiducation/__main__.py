import sys

from aiducation.cli import main

sys.exit(main())
