"""Where the loghub samples (real Linux and OpenSSH syslog with ground truth) are found."""

import os
from pathlib import Path

# The project's shared folder sits beside the checkout; RCA_LOGHUB_DIR points elsewhere.
LOGHUB = Path(os.environ.get("RCA_LOGHUB_DIR") or Path(__file__).resolve().parents[3] / "shared" / "data" / "loghub")
if not (LOGHUB / "Linux").is_dir():
    raise RuntimeError(
        f"loghub samples not found at {LOGHUB}: put the shared folder beside the checkout or set RCA_LOGHUB_DIR"
    )
