import Engine
import VipsBridge
