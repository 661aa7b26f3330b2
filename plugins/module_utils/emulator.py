# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the embedded emulator (moto 5.2.5) differs from AWS: every workaround, named, here.

Each function acts only when the endpoint is loopback (the emulator), so what real AWS gets
is never weakened. Remove a workaround when moto fixes its gap.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse


def is_emulator(module):
    """True when the module talks to a loopback endpoint: the embedded emulator."""
    url = module.params.get("endpoint_url") or ""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def release_nat_address(module, ec2, address):
    """moto keeps a NAT gateway's Elastic IP associated after the gateway is deleted.

    AWS disassociates it with the deletion; on the emulator we do it ourselves so the
    address can be released as on AWS.
    """
    if address.get("AssociationId") and is_emulator(module):
        ec2.disassociate_address(aws_retry=True, AssociationId=address["AssociationId"])
        return True
    return False


def security_group_pair_descriptions_updatable(module):
    """moto's UpdateSecurityGroupRuleDescriptions{Ingress,Egress} never changes the description of
    a rule whose peer is a security group (it compares the peer including its old description,
    finds no rule, and does nothing); CIDR rules work.

    AWS updates it in place; on the emulator the caller revokes the rule and authorizes it
    again with the new description.
    """
    return not is_emulator(module)
