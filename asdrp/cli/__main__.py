"""`python -m asdrp.cli`: the console script without the installed entry point (tests, bench, CI).

The guard matters: uvicorn's worker processes are spawned, and spawning re-imports this module.
"""

from asdrp.cli import main

if __name__ == "__main__":
    main()
