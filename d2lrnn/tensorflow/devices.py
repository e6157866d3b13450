"""TensorFlow's devices: the accelerators it sees, placement, precision, threads."""
from ..base.adapter import Devices
from ..base.backend import import_framework

tf = import_framework("tensorflow", "tensorflow")


class TensorflowDevices(Devices):
    """TensorFlow: the devices it computes on, and its threads."""

    # Devices are TensorFlow's names ("/device:GPU:0"); a tf.device scope places new tensors
    # and variables, and eager operations copy their inputs to where they run.
    def accelerators(self):
        return [("cuda", d.name) for d in tf.config.list_logical_devices("GPU")]

    def missing_accelerator_hint(self):
        if not tf.test.is_built_with_cuda():
            return ("; this TensorFlow is a CPU-only build (tensorflow-cpu, or macOS): "
                    "pip install \"tensorflow[and-cuda]\" on Linux")
        return ""

    def cpu_device(self):
        return tf.config.list_logical_devices("CPU")[0].name

    def device_of(self, x):
        name = getattr(x, "device", None)
        if name is None and hasattr(x, "value"):  # a Keras 3 variable
            name = x.value.device
        return tf.DeviceSpec.from_string(name).to_string() if name else self.cpu_device()

    def to_device(self, x, device):
        with tf.device(_named(device)):
            return tf.identity(x)

    def device_name(self, device):
        spec = tf.DeviceSpec.from_string(_named(device))
        kind = "cuda" if spec.device_type == "GPU" else spec.device_type.lower()
        return "cpu" if kind == "cpu" and not spec.device_index else \
            f"{kind}:{spec.device_index or 0}"

    def device_scope(self, device):
        return tf.device(_named(device))

    def threads(self):
        intra = tf.config.threading.get_intra_op_parallelism_threads() or "all cores"
        return f"intra-op threads: {intra}"

    def full_precision(self):
        tf.config.experimental.enable_tensor_float_32_execution(False)


def _named(device):
    """A device's name: TensorFlow's name itself, or the name behind a ``tf.device(...)``
    scope (what the book's ``d2l.gpu()`` and ``d2l.try_gpu()`` give)."""
    return device if isinstance(device, str) else getattr(device, "_device_name", str(device))
