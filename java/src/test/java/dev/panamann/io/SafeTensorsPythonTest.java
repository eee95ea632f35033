package dev.panamann.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files written by the reference Python library ({@code safetensors.numpy.save_file}, see
 * {@code make_python_fixtures.py} next to the fixtures): its header layout (metadata first,
 * tensors sorted by dtype and name, space padding to 8 bytes) loads into a model, and the loaded
 * model computes the scores numpy computed with the same weights.
 */
class SafeTensorsPythonTest {
    @TempDir
    Path dir;

    Path fixture(String name) throws IOException {
        Path f = dir.resolve(name);
        try (InputStream in = SafeTensorsPythonTest.class.getResourceAsStream(name)) {
            if (in == null) throw new IOException("test resource " + name + " is missing");
            Files.copy(in, f);
        }
        return f;
    }

    /** The value pattern of make_python_fixtures.py: ((k * 7 + offset) % 13 - 6) / 8. */
    static float[] pattern(int n, int offset) {
        float[] v = new float[n];
        for (int k = 0; k < n; k++) v[k] = ((k * 7 + offset) % 13 - 6) / 8f;
        return v;
    }

    @Test
    void pythonWrittenModelLoadsAndGivesNumpysScoresOnBothBackends() throws IOException {
        Path params = fixture("twolayer_from_python.safetensors");
        Path check = fixture("twolayer_from_python_check.safetensors");
        for (Ops ops : Backs.all()) {
            try (TwoLayerNet net = new TwoLayerNet(ops, 4, 3, 2, 1f, 0f, 7);
                 SafeTensors.Contents c = SafeTensors.load(check)) {
                Map<String, String> meta = ModelIO.load(net, params);
                assertEquals("pt", meta.get("format"), "metadata from Python is kept");
                assertEquals("python safetensors", meta.get("writer"));
                Map<String, Tensor> state = net.stateDict();
                // the file names its tensors W1, b1, W2, b2, as panama-nn did before the module-tree names
                assertEquals(List.of("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"), List.copyOf(state.keySet()));
                assertArrayEquals(pattern(12, 0), state.get("layers.0.weight").toArray(), ops.name() + " W1");
                assertArrayEquals(pattern(3, 1), state.get("layers.0.bias").toArray(), ops.name() + " b1");
                assertArrayEquals(pattern(6, 2), state.get("layers.2.weight").toArray(), ops.name() + " W2");
                assertArrayEquals(pattern(2, 3), state.get("layers.2.bias").toArray(), ops.name() + " b2");

                Tensor x = c.tensors().get("X");
                Tensor expected = c.tensors().get("scores");
                assertArrayEquals(new int[] {5, 4}, x.shape());
                assertArrayEquals(new int[] {5, 2}, expected.shape());
                // the weights are multiples of 1/8 and X of 1/8: every product and sum is exact
                assertArrayEquals(expected.toArray(), net.scores(x).toArray(), 0f, ops.name() + " scores");
            }
        }
    }

    @Test
    void pythonWrittenOtherDtypesAreNamedAndF32StillLoads() throws IOException {
        Path f = fixture("mixed_dtypes_from_python.safetensors");
        SafeTensors.Header h = SafeTensors.readHeader(f);
        assertEquals("F64", h.entries().get("f64").dtype());
        assertEquals("I64", h.entries().get("i64").dtype());
        assertEquals("F16", h.entries().get("f16").dtype());
        assertArrayEquals(new int[] {2, 3}, h.entries().get("f16").shape());
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.load(f));
        assertTrue(e.getMessage().contains("has dtype"), e.getMessage());
        try (SafeTensors.Contents c = SafeTensors.load(f, n -> n.equals("f32"))) {
            assertArrayEquals(new float[] {1.5f, -2.25f}, c.tensors().get("f32").toArray());
        }
    }
}
