import sys

from medialake.jobs.cli import main

sys.exit(main())
