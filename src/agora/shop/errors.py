"""What the shop refuses."""

from agora.kernel.errors import Conflict, InvalidInput, NotFound


class OutOfStock(Conflict):
    default_code = "out_of_stock"
    default_detail = "Not enough of a product is in stock."


class ProductUnavailable(InvalidInput):
    default_code = "product_unavailable"
    default_detail = "A product of the order does not exist or is not for sale."


class InvalidState(Conflict):
    default_code = "invalid_state"
    default_detail = "Only a paid order can be cancelled."


class OrderNotFound(NotFound):
    default_detail = "Order not found."
