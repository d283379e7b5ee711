"""A tiny module under test; ``percent`` has a deliberate rounding bug the tests catch."""


def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)


def percent(part, whole):
    return int(100 * part / whole)  # truncates: percent(2, 3) gives 66, not 67
