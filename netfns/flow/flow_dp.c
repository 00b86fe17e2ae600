// SPDX-License-Identifier: Apache-2.0
/* placeholder: filled in by this change */
