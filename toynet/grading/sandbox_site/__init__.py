"""Modules mounted read-only at /site in every student's root, beside numpy and matplotlib (not imported here).

- `IPython`: a small stand-in for IPython (`get_ipython()` and `IPython.display`). IPython itself would bring
  some forty packages (traitlets, prompt_toolkit, jedi, pygments, ...) into every student's root and cost each
  submission a third of a second to import; a graded notebook needs only that `display(...)` and its friends
  accept what they are given and that magics, which the grader turns into Python with IPython's own
  transformer (grading/magics.py), run as Jupyter runs them.
- `_toynet_backend`: matplotlib's Agg backend whose `show()` discards the figures, silently.
"""
