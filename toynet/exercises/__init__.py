"""The course exercises, with the course's own signatures, built on toynet's layers and gradient checker.

    gradient_checking          the 1-D and N-D gradient-checking assignment (with its planted bugs)
    cs231n                     a drop-in for cs231n's gradient_check.py (eval_numerical_gradient, ...), plus rel_error
    numerical_gradient_check   the numerical-gradient-check exercise (numerical_gradient, gradient_check)
    step_by_step               "Building your Deep Neural Network: Step by Step" (L_model_forward, ...)
    initialization             zeros, large random and He initialization, and the model they train
    regularization             L2 and dropout (compute_cost_with_regularization, ..._with_dropout) and its model
    three_layer                the 3-layer forward, backward, cost and predict those two share (init/reg_utils)

Import the module you need, e.g. `from toynet.exercises.gradient_checking import gradient_check_n`.
"""
