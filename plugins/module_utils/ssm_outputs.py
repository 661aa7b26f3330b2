# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a stack's outputs, kept as SSM parameters under one path."""

from __future__ import annotations

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate


def read_parameters(ssm, path):
    """Output key -> parameter (Name, Value, ARN, ...) for every parameter directly under path."""
    params = paginate(ssm, "get_parameters_by_path", "Parameters", Path=path, Recursive=False)
    return {p["Name"].rsplit("/", 1)[-1]: p for p in params}


def read_outputs(ssm, path):
    """Output key -> value for every parameter directly under path."""
    return {key: p["Value"] for key, p in read_parameters(ssm, path).items()}
