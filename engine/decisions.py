"""DMN decision tables evaluated as FEEL, the way Camunda Modeler writes the cells.

SpiffWorkflow's own DMN engine turns cells into Python text; `"a","b"`, `not("a")` and
`[1..50]` then silently fail or raise. Here every input cell is a FEEL unary test and every
output cell a FEEL expression, both through `engine.expressions`.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .expressions import ExpressionError, compile_feel, compile_unary_tests


class FeelDecisionEngine(DMNEngine):
    """Hit policies: UNIQUE (more than one match is an error), FIRST, PRIORITY and ANY give one
    result; COLLECT and RULE ORDER give each output as a list of the matching rules' values."""

    def result(self, task) -> dict[str, Any]:
        table = self.decision_table
        engine = task.workflow.script_engine
        variables, functions = engine.variables(task), engine.functions
        try:
            matched = [rule for rule in table.rules if self._matches(rule, variables, functions, table.id)]
            outputs = [self._outputs(rule, variables, functions, table.id) for rule in matched]
        except ExpressionError as err:
            raise WorkflowTaskException(str(err), task=task, exception=err) from err
        policy = (table.hit_policy or "UNIQUE").upper()
        if policy in ("COLLECT", "RULE ORDER"):
            names = [output.name or output.label for output in table.outputs]
            return {name: [row[name] for row in outputs] for name in names}
        if policy == "UNIQUE" and len(outputs) > 1:
            rows = ", ".join(str(rule.row_number) for rule in matched)
            raise WorkflowTaskException(
                f"decision {table.id}: rules {rows} all match (hit policy UNIQUE)", task=task
            )
        return outputs[0] if outputs else {}

    @staticmethod
    def _matches(rule, variables, functions, table_id) -> bool:
        for entry in rule.inputEntries:
            text = entry.lhs[0] if entry.lhs else None
            expression = entry.input.expression or entry.input.label
            value = compile_feel(expression, table_id).evaluate(variables, functions, table_id)
            if not compile_unary_tests(text, table_id).matches(value, variables, functions, table_id):
                return False
        return True

    @staticmethod
    def _outputs(rule, variables, functions, table_id) -> dict[str, Any]:
        return {
            entry.output.name or entry.output.label: compile_feel(entry.text or "", table_id).evaluate(
                variables, functions, table_id
            )
            for entry in rule.outputEntries
        }


class DecisionTask(BusinessRuleTask):
    """A business rule task whose outputs replace earlier values of the same variables, as in
    Camunda. SpiffWorkflow deep-merges them, so a re-check would mix in the previous run's
    lists (a reason that no longer applies would still be reported)."""

    def _run_hook(self, my_task):
        try:
            my_task.data.update(self.dmnEngine.result(my_task))
        except SpiffWorkflowException as err:
            err.add_note(f"Business Rule Task '{my_task.task_spec.bpmn_name}'.")
            raise
        return True
