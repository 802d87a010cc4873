"""The sandbox's stand-in for IPython: `get_ipython()`, whose shell runs the magics a notebook's cells call.

The grader turns each cell into Python with IPython's own `TransformerManager` (grading/magics.py), so
`x = !ls` arrives as `x = get_ipython().getoutput('ls')` and `%%writefile f.py` as
`get_ipython().run_cell_magic('writefile', 'f.py', body)`. This shell runs them as Jupyter would where that
is safe and meaningful here, and otherwise says, on the notebook's output, what it did not run:

- `%%writefile [-a] NAME`: writes (or appends) the file in the submission's work folder;
- `%%capture [NAME]`: runs the body with its output captured (bound to NAME when given);
- `%%time`, `%%timeit`, `%time`, `%timeit`: run their code once;
- `%%script`, `%%bash`, `%%sh` ...: not run (no shell while grading); `%%html`, `%%javascript`,
  `%%markdown`, `%%latex`, `%%svg`: nothing to run;
- `!cmd` and `x = !cmd`: not run; `x` is an empty list;
- `%matplotlib`, `%load_ext`, `%autoreload`, `%config` and other line magics: nothing to do here.
"""

from IPython import display
from IPython._shell import Shell, get_ipython

__all__ = ["Shell", "display", "get_ipython"]
__version__ = "8.24.0"  # the shim's: what libraries that check it need
version_info = (8, 24, 0, "")
