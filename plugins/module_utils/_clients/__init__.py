# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The vendors' API clients with our retry policy, shared by a vendor's cloud provider and DNS backend."""
