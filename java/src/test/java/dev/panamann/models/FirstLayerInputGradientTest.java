package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.layers.Affine;
import dev.panamann.layers.Layer;
import dev.panamann.layers.Mode;
import dev.panamann.layers.ReLU;
import dev.panamann.layers.Sequential;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.GradAssert;
import dev.panamann.testutil.NumGrad;
import dev.panamann.train.GradientCheck;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The models whose first layer is an {@link Affine} skip the gradient of the data: the first
 * layer's backward returns null, and every param gradient is the same as with it computed.
 */
class FirstLayerInputGradientTest {

    static List<Function<Ops, SequentialModel>> models() {
        return List.of(
                ops -> new TwoLayerNet(ops, 12, 7, 3, 0.5f, 0.1f, 1),
                ops -> new FullyConnectedNet(ops, new int[] {6, 5}, 12, 3,
                        FullyConnectedNet.Options.DEFAULT.withHeInit().withBatchNorm(true).withReg(0.05f).withSeed(2)),
                ops -> new FullyConnectedNet(ops, new int[] {6}, 12, 3, 0.4f, 0.05f, 3),
                ops -> new PReluNet(ops, 12, 7, 3, 0.05f, 4),
                ops -> new SigmoidNet(ops, 12, 7, 3, 0.05f, 5));
    }

    static List<Object[]> cases() {
        List<Object[]> cases = new java.util.ArrayList<>();
        for (String backend : NumGrad.backends()) for (int m = 0; m < models().size(); m++) cases.add(new Object[] {backend, m});
        return cases;
    }

    /** The model's first layer, looking into a nested Sequential. */
    private static Affine firstAffine(SequentialModel net) {
        Layer first = net.layers().layers().get(0);
        while (first instanceof Sequential s) first = s.layers().get(0);
        assertTrue(first instanceof Affine, "first layer of " + net + " is " + first);
        return (Affine) first;
    }

    @ParameterizedTest(name = "{0} model {1}")
    @MethodSource("cases")
    void paramGradientsAreTheSameWithoutTheDataGradient(String backend, int model) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(10 + model);
        int[] y = {0, 2, 1, 2, 0};
        try (SequentialModel net = models().get(model).apply(ops); Tensor x = Tensor.randn(rng, 1f, 5, 3, 2, 2)) {
            double loss = net.lossDouble(x, y);
            assertEquals(null, net.layers().backward(net.criterion().dscores()), net + ": no gradient for the data");
            float[] without = net.gradients().toArray();

            firstAffine(net).setInputGradient(true);
            assertEquals(loss, net.lossDouble(x, y), 0.0);
            Tensor dx = net.layers().backward(net.criterion().dscores());
            assertNotNull(dx, net + " with the input gradient on");
            assertTrue(dx.hasShape(5, 3, 2, 2), dx.shapeString());
            assertArrayEquals(net.gradients().toArray(), without, net + ": every param gradient is unchanged");

            firstAffine(net).setInputGradient(false);
            GradAssert.allOk(ops.name() + " " + net, GradientCheck.checkModel(net, x, y, GradientCheck.STEP));
        }
    }

    @Test
    void onlyTheFirstLayerOfASequentialMaySkipItsInputGradient() {
        Ops ops = NumGrad.ops("java");
        Rng rng = new Rng(20);
        try (Sequential s = new Sequential(new Affine(ops, 4, 3, rng, 0.5f), new ReLU(), new Affine(ops, 3, 2, rng, 0.5f));
             Tensor x = Tensor.randn(rng, 1f, 2, 4); Tensor dout = Tensor.randn(rng, 1f, 2, 2)) {
            ((Affine) s.layers().get(2)).setInputGradient(false);
            s.forward(x, Mode.TRAIN);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.backward(dout));
            assertTrue(e.getMessage().contains("layer 2") && e.getMessage().contains("only the first layer"), e.getMessage());
        }
    }
}
