"""Hold an flock on a file for a while, from a separate process (like another agent would)."""

import fcntl
import os
import sys
import time

path, seconds = sys.argv[1], float(sys.argv[2])
fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(seconds)
