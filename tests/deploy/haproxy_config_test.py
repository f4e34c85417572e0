#!/usr/bin/env python3
"""deploy/haproxy.cfg is a valid HAProxy configuration (haproxy -c).
Usage: haproxy_config_test.py deploy/haproxy.cfg"""
import subprocess
import sys

from haproxy_setup import require_haproxy

haproxy = require_haproxy()
result = subprocess.run([haproxy, "-c", "-f", sys.argv[1]], capture_output=True, text=True)
print(result.stdout + result.stderr)
sys.exit(result.returncode)
