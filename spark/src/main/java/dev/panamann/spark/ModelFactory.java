package dev.panamann.spark;

import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import java.io.Serializable;

/**
 * Builds the model on each executor (models hold off-heap memory and native plans, so they are
 * built where they train, never serialized). Every call must build the same architecture;
 * the initial values need not agree: rank 0's are broadcast to the others before the first
 * step. A lambda works when everything it captures is serializable:
 *
 * <pre>{@code ModelFactory f = ops -> new ThreeLayerConvNet(ops, 42);}</pre>
 */
@FunctionalInterface
public interface ModelFactory extends Serializable {
    /**
     * @param ops the executor's backend (native when the libraries load there)
     * @return a new model, owned by the caller
     */
    Model create(Ops ops);
}
