"""Start the torchmode server that the VS Code extension carries, with the user's Python.

The extension runs ``<python> -I bundled/tool/launch.py lsp``. ``-I`` keeps PYTHONPATH,
the user's site-packages and the current folder off ``sys.path`` (the server's current
folder is the workspace, which may hold a ``torchmode`` folder of its own); this file then
puts ``bundled/libs`` first: torchmode, pygls, lsprotocol and their pure-Python
dependencies, pinned in client/bundled-requirements.txt. Whatever the interpreter has
installed, those are the versions the server imports, and nothing is installed anywhere.
The rest runs as ``python -m torchmode lsp`` would.
"""

import os
import runpy
import sys

# The extension checks the version before it starts this; the message is for anyone else.
# (No f-strings: an old Python must get this far to print it.)
if sys.version_info < (3, 10):  # noqa: UP036 - the point is to run on an older Python
    sys.exit("torchmode needs Python 3.10 or newer; this is " + sys.version.split()[0])

LIBS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "libs")
if not os.path.isdir(os.path.join(LIBS, "torchmode")):
    sys.exit("torchmode's bundled libraries are missing from " + LIBS + "; reinstall the extension")
sys.path.insert(0, LIBS)
runpy.run_module("torchmode", run_name="__main__", alter_sys=True)
