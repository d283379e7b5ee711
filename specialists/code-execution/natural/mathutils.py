def mean(xs):
    return sum(xs) / len(xs)


def median(xs):
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid]


def clamp(x, lo, hi):
    return max(lo, min(x, hi))
