# SPDX-License-Identifier: GPL-2.0-or-later
"""``python -m benchmarks.sip`` = ``scripts/bench-sip``."""

import sys

from benchmarks.sip.cli import main

sys.exit(main())
