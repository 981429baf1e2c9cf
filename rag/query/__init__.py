"""Question understanding: one stage that reads a question into a typed `QueryPlan` (see `plan.py`)."""

from .plan import ANSWER_TYPES, QueryPlan, plan_question

__all__ = ["ANSWER_TYPES", "QueryPlan", "plan_question"]
