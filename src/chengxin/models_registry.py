"""Imports every domain's models so that Base.metadata knows all tables (Alembic, tests)."""

from chengxin.accounts import models as _accounts  # noqa: F401
from chengxin.archives import models as _archives  # noqa: F401
from chengxin.audit import checkpoint_models as _checkpoints  # noqa: F401
from chengxin.audit import models as _audit  # noqa: F401
from chengxin.exchange import models as _exchange  # noqa: F401
from chengxin.records import models as _records  # noqa: F401
from chengxin.reference import models as _reference  # noqa: F401
from chengxin.reports import models as _reports  # noqa: F401
from chengxin.rights import models as _rights  # noqa: F401
from chengxin.sanctions import models as _sanctions  # noqa: F401
from chengxin.scoring import models as _scoring  # noqa: F401
from chengxin.subjects import models as _subjects  # noqa: F401
