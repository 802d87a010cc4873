"""The course exercises, with the course's own signatures, built on toynet's layers and gradient checker.

    gradient_checking          the 1-D and N-D gradient-checking assignment (with its planted bugs)
    cs231n                     a drop-in for cs231n's gradient_check.py (eval_numerical_gradient, ...), plus rel_error
    numerical_gradient_check   the numerical-gradient-check exercise (numerical_gradient, gradient_check)

Import the module you need, e.g. `from toynet.exercises.gradient_checking import gradient_check_n`.
"""
