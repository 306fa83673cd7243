"""Narrowing cluster frames to a namespace and a workload, after the fetch.

Every screen shares one fetch per source query per interval; a screen's namespace and workload
filters are applied here, in memory, so filtered screens cost the sources nothing more.
"all" means no filter. A pod's workload comes from pod_health (its owner), or is guessed from
its name when the Kubernetes API did not list it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from queries.workloads import guess_workload

ALL = "all"


@dataclass(frozen=True)
class Scope:
    namespace: str = ALL
    workload: str = ALL

    @classmethod
    def of(cls, namespace: str | None, workload: str | None) -> Scope:
        """The scope of two filter controls; an empty control means all."""
        return cls(namespace or ALL, workload or ALL)

    @property
    def everything(self) -> bool:
        return self.namespace == ALL and self.workload == ALL

    def _namespace_rows(self, frame: pd.DataFrame) -> pd.Series:
        if self.namespace == ALL:
            return pd.Series(True, index=frame.index)
        return frame["namespace"] == self.namespace

    def pods(self, pods: pd.DataFrame) -> pd.DataFrame:
        """pod_health rows in scope."""
        keep = self._namespace_rows(pods)
        if self.workload != ALL:
            keep &= pods["workload"] == self.workload
        return pods[keep]

    def by_pod(self, frame: pd.DataFrame, pods: pd.DataFrame) -> pd.DataFrame:
        """Rows of a frame with namespace and pod columns (usage, container resources, unhealthy
        pods) whose pod is in scope; owners from ``pods`` (pod_health), else guessed."""
        keep = self._namespace_rows(frame)
        if self.workload != ALL:
            owners = dict(
                zip(zip(pods["namespace"], pods["pod"], strict=True), pods["workload"], strict=True)
            )
            workloads = [
                owners.get((namespace, pod), guess_workload(pod))
                for namespace, pod in zip(frame["namespace"], frame["pod"], strict=True)
            ]
            keep &= pd.Series(workloads, index=frame.index, dtype="object") == self.workload
        return frame[keep]

    def events(self, events: pd.DataFrame, pods: pd.DataFrame) -> pd.DataFrame:
        """Events (EVENT_COLUMNS) about objects in scope: with a workload, events of the
        workload itself (Deployment, HPA, ReplicaSet named after it) or of its pods."""
        keep = self._namespace_rows(events)
        if self.workload != ALL:
            mine = set(self.pods(pods)["pod"])
            names = events["name"]
            replicaset = re.compile(rf"{re.escape(self.workload)}-[0-9a-z]{{6,10}}")
            keep &= (
                names.isin(mine)
                | (names == self.workload)
                | names.map(lambda name: guess_workload(name) == self.workload)
                | ((events["kind"] == "ReplicaSet") & names.str.fullmatch(replicaset))
            )
        return events[keep]

    def hpas(self, hpas: pd.DataFrame) -> pd.DataFrame:
        """HPA_COLUMNS rows in scope: an HPA is taken to be named after its workload."""
        keep = self._namespace_rows(hpas)
        if self.workload != ALL:
            keep &= hpas["hpa"] == self.workload
        return hpas[keep]


def choices(pods: pd.DataFrame, namespace: str = ALL) -> tuple[list[str], list[str]]:
    """The namespaces of ``pods``, and the workloads in ``namespace`` (all: every one), sorted."""
    in_namespace = pods if namespace == ALL else pods[pods["namespace"] == namespace]
    return sorted(set(pods["namespace"])), sorted(set(in_namespace["workload"]))
