"""A backward toynet cannot guess how to call: four arguments, none of the course's forms."""


def backward(dA, cache, W, b):
    return {"dW1": dA}
