"""unittest tests for calc.py: two pass, one fails on purpose (to show failure reporting)."""

import unittest

from calc import add, mean, percent


class CalcTests(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_mean(self):
        self.assertAlmostEqual(mean([1, 2, 3, 4]), 2.5)

    def test_percent_rounds(self):
        self.assertEqual(percent(2, 3), 67)
