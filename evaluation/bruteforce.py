#!/usr/bin/env python3
"""Precision and recall of the bruteforce analyzer through the real engine (see flow_detectors.py).

    .venv/bin/python evaluation/bruteforce.py [--data /work/shared/data] [--seed 11] [--workers 2]
"""

import sys

from flow_detectors import main

if __name__ == "__main__":
    sys.exit(main(default_tag="bruteforce"))
