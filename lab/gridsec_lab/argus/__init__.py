"""The lab Argus PAP. ``serve_conf_dir(conf_dir, workdir, ca_dir=None)`` starts one PAP from a directory
of real configuration files (see :mod:`gridsec_lab.argus.confdir`)."""


def serve_conf_dir(conf_dir, workdir, ca_dir=None):
    from .confdir import serve_conf_dir as _serve
    return _serve(conf_dir, workdir, ca_dir=ca_dir)


__all__ = ["serve_conf_dir"]
