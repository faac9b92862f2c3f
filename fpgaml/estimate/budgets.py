"""placeholder"""
class Budgets: pass
class BudgetResult: pass
def check_budgets(*a): pass
