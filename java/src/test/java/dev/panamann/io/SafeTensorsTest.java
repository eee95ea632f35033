package dev.panamann.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.panamann.testutil.Legacy;
import dev.panamann.tensor.Param;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.TinyNet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    static int[] bits(Tensor t) {
        float[] f = t.toArray();
        int[] b = new int[f.length];
        for (int i = 0; i < f.length; i++) b[i] = Float.floatToRawIntBits(f[i]);
        return b;
    }

    @Test
    void roundTripIsBitExactIncludingSpecialValues() throws IOException {
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_NORMAL / 3, Float.MAX_VALUE, Float.NEGATIVE_INFINITY,
                Float.POSITIVE_INFINITY, Float.intBitsToFloat(0x7fc00123), Float.intBitsToFloat(0xff800001), 1.0000001f,
                (float) Math.PI, -1e-30f};
        Path f = dir.resolve("t.safetensors");
        Rng rng = new Rng(3);
        try (Tensor a = Tensor.of(special, 3, 4); Tensor b = Tensor.randn(rng, 1f, 2, 3, 4, 5);
             Tensor scalar = Tensor.of(new float[] {42f}); Tensor empty = Tensor.zeros(0, 7)) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("special", a);
            in.put("conv.weight", b);
            in.put("scalar", scalar);
            in.put("empty", empty);
            Map<String, String> meta = Map.of("format", "panama-nn", "note", "ünïcode \"quoted\" <tag> & more");
            SafeTensors.save(f, in, meta);
            try (SafeTensors.Contents c = SafeTensors.load(f)) {
                assertEquals(List.of("special", "conv.weight", "scalar", "empty"), new ArrayList<>(c.tensors().keySet()));
                for (var e : in.entrySet()) {
                    Tensor got = c.tensors().get(e.getKey());
                    assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
                    assertArrayEquals(bits(e.getValue()), bits(got), e.getKey());
                }
                assertEquals(meta, c.metadata());
            }
        }
    }

    /** The header as the spec says: LE length, JSON, F32 entries with contiguous sorted offsets. */
    @Test
    void headerIsWrittenExactlyPerSpec() throws IOException {
        Path f = dir.resolve("h.safetensors");
        try (Tensor w = Tensor.zeros(3, 5); Tensor b = Tensor.zeros(5); Tensor v = Tensor.zeros(2, 2, 2)) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("W1", w);
            in.put("b1", b);
            in.put("a_last_alphabetically_but_third", v);
            SafeTensors.save(f, in, Map.of("k", "v"));
        }
        byte[] all = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + n) % 8, "data section 8-byte aligned");
        String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{"), header);
        assertTrue(header.substring(header.lastIndexOf('}') + 1).chars().allMatch(ch -> ch == ' '), "padding is spaces");
        JsonObject o = JsonParser.parseString(header).getAsJsonObject();
        List<String> keys = new ArrayList<>(o.keySet());
        assertEquals(List.of("__metadata__", "W1", "b1", "a_last_alphabetically_but_third"), keys);
        assertEquals("v", o.getAsJsonObject("__metadata__").get("k").getAsString());
        long expectedBegin = 0;
        int[][] shapes = {{3, 5}, {5}, {2, 2, 2}};
        for (int i = 1; i < keys.size(); i++) {
            JsonObject e = o.getAsJsonObject(keys.get(i));
            assertEquals(Set.of("dtype", "shape", "data_offsets"), e.keySet());
            assertEquals("F32", e.get("dtype").getAsString());
            int[] shape = e.getAsJsonArray("shape").asList().stream().mapToInt(JsonElement::getAsInt).toArray();
            assertArrayEquals(shapes[i - 1], shape);
            long begin = e.getAsJsonArray("data_offsets").get(0).getAsLong();
            long end = e.getAsJsonArray("data_offsets").get(1).getAsLong();
            assertEquals(expectedBegin, begin, keys.get(i) + " begins where the previous ends");
            long elems = 1;
            for (int d : shape) elems *= d;
            assertEquals(begin + 4 * elems, end);
            assertFalse(e.getAsJsonArray("data_offsets").get(0).toString().contains("."), "offsets are integers");
            expectedBegin = end;
        }
        assertEquals(all.length - 8 - n, expectedBegin, "tensors cover the data section exactly");
    }

    @Test
    void dataIsLittleEndianFloat32() throws IOException {
        Path f = dir.resolve("le.safetensors");
        try (Tensor t = Tensor.of(new float[] {1.5f, -2f}, 2)) {
            SafeTensors.save(f, Map.of("x", t), null);
        }
        byte[] all = Files.readAllBytes(f);
        ByteBuffer data = ByteBuffer.wrap(all, all.length - 8, 8).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1.5f, data.getFloat());
        assertEquals(-2f, data.getFloat());
        assertFalse(new String(all, StandardCharsets.UTF_8).contains("__metadata__"), "no metadata, no key");
    }

    @Test
    void overwriteIsAtomicAndLeavesNoTemporaryFiles() throws IOException {
        Path f = dir.resolve("m.safetensors");
        try (Tensor a = Tensor.full(1f, 4); Tensor b = Tensor.full(2f, 8)) {
            SafeTensors.save(f, Map.of("a", a), null);
            SafeTensors.save(f, Map.of("b", b), null);
            try (SafeTensors.Contents c = SafeTensors.load(f)) {
                assertEquals(List.of("b"), List.copyOf(c.tensors().keySet()));
            }
            // a failing write leaves the old file intact
            byte[] before = Files.readAllBytes(f);
            Tensor closedTensor = Tensor.zeros(2);
            closedTensor.close();
            assertThrows(IllegalStateException.class, () -> SafeTensors.save(f, Map.of("a", closedTensor), null));
            IOException boom = assertThrows(IOException.class, () -> AtomicFiles.write(f, ch -> {
                ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
                throw new IOException("disk full");
            }));
            assertEquals("disk full", boom.getMessage());
            assertArrayEquals(before, Files.readAllBytes(f));
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("m.safetensors"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void truncatedFileNamesFileAndOffset() throws IOException {
        Path f = dir.resolve("trunc.safetensors");
        try (Tensor a = Tensor.full(1f, 10, 10); Tensor b = Tensor.full(2f, 10)) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("a", a);
            in.put("b", b);
            SafeTensors.save(f, in, null);
        }
        long size = Files.size(f);
        truncate(f, size - 10);
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.load(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("truncated")
                && e.getMessage().contains("'b'") && e.getMessage().contains("byte offset " + (size - 10)), e.getMessage());
        assertEquals(size - 10, e.offset());
        truncate(f, 30); // inside the header
        e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.load(f));
        assertEquals(0, e.offset());
        assertTrue(e.getMessage().contains("does not fit in the file of 30 bytes"), e.getMessage());
        truncate(f, 5);
        e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.load(f));
        assertTrue(e.getMessage().contains("too short"), e.getMessage());
    }

    static void truncate(Path f, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    static Path rawFile(Path f, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Files.write(f, b.array());
        return f;
    }

    @Test
    void corruptHeadersAreRejectedWithReasons() throws IOException {
        Object[][] cases = {
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "not valid JSON"},
            {"[1, 2]", 0, "does not start with '{'"},
            {"{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'F17'"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "not a whole number"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "contiguous"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "bytes after the last tensor"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "twice"},
            {"{\"__metadata__\":{\"k\":1}}", 0, "not a string"},
        };
        int i = 0;
        for (Object[] c : cases) {
            Path f = rawFile(dir.resolve("bad" + i++ + ".safetensors"), (String) c[0], (Integer) c[1]);
            SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.load(f), (String) c[0]);
            assertTrue(e.getMessage().contains((String) c[2]) && e.getMessage().contains(f.toString()),
                    "case " + c[0] + " gave: " + e.getMessage());
        }
        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).array());
        assertTrue(assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.load(huge)).getMessage()
                .contains("not a safetensors file"));
    }

    @Test
    void otherDtypesAreDescribedButNotLoaded() throws IOException {
        Path f = rawFile(dir.resolve("f16.safetensors"),
                "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                        + "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}    ", 12);
        SafeTensors.Header h = SafeTensors.readHeader(f);
        assertEquals("F16", h.entries().get("h").dtype());
        assertArrayEquals(new int[] {2, 2}, h.entries().get("h").shape());
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensors.load(f));
        assertTrue(e.getMessage().contains("'h' has dtype F16"), e.getMessage());
        try (SafeTensors.Contents c = SafeTensors.load(f, n -> n.equals("x"))) {
            assertEquals(1, c.tensors().size());
        }
    }

    @Test
    void badNamesAreRejectedOnSave() {
        try (Tensor t = Tensor.zeros(1)) {
            assertThrows(IllegalArgumentException.class, () -> SafeTensors.save(dir.resolve("x"), Map.of("", t), null));
            assertThrows(IllegalArgumentException.class,
                    () -> SafeTensors.save(dir.resolve("x"), Map.of(SafeTensors.METADATA_KEY, t), null));
        }
    }

    // ------------------------------------------------------------------ ModelIO

    @Test
    void modelRoundTripIsBitExactOnBothBackends() throws IOException {
        for (Ops ops : Backs.all()) {
            Path f = dir.resolve("model-" + ops.name() + ".safetensors");
            try (TinyNet a = new TinyNet(ops, 6, 4, 3, 0f, 0.5f, new Rng(1));
                 TinyNet b = new TinyNet(ops, 6, 4, 3, 0f, 0.5f, new Rng(2));
                 Tensor x = Tensor.randn(new Rng(9), 1f, 5, 6)) {
                ModelIO.save(a, f, Map.of("hidden", "4"));
                Map<String, String> meta = ModelIO.load(b, f);
                assertEquals("panama-nn", meta.get("format"));
                assertEquals("4", meta.get("hidden"));
                for (int i = 0; i < a.params().size(); i++) {
                    assertArrayEquals(bits(a.params().get(i).value()), bits(b.params().get(i).value()), ops.name());
                }
                float[] sa = a.scores(x).toArray(), sb = b.scores(x).toArray();
                assertArrayEquals(sa, sb, ops.name() + ": same params, same scores");
            }
        }
    }

    @Test
    void wrongShapeNameOrDtypeIsReportedPerParamAndLeavesModelUntouched() throws IOException {
        Ops ops = Backs.java();
        Path f = dir.resolve("linear.safetensors");
        try (TinyNet six = new TinyNet(ops, 6, 0, 3, 0f, 1f, new Rng(1));
             TinyNet five = new TinyNet(ops, 5, 0, 3, 0f, 1f, new Rng(2));
             TinyNet deep = new TinyNet(ops, 6, 4, 3, 0f, 1f, new Rng(3))) {
            ModelIO.save(six, f);
            int[] before = bits(five.params().get(0).value());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelIO.load(five, f));
            assertTrue(e.getMessage().contains("param 'W1': expected shape [5, 3] but found [6, 3]")
                    && e.getMessage().contains(f.toString()), e.getMessage());
            assertArrayEquals(before, bits(five.params().get(0).value()), "failed load leaves the model untouched");

            e = assertThrows(IllegalArgumentException.class, () -> ModelIO.load(deep, f));
            assertTrue(e.getMessage().contains("param 'W2' (shape [4, 3]) is missing")
                    && e.getMessage().contains("param 'W1': expected shape [6, 4] but found [6, 3]"), e.getMessage());

            Path g = dir.resolve("deep.safetensors");
            ModelIO.save(deep, g);
            e = assertThrows(IllegalArgumentException.class, () -> ModelIO.load(six, g));
            assertTrue(e.getMessage().contains("tensor 'W2' (shape [4, 3]) matches no param"), e.getMessage());
        }
        // dtype: a file whose W1 is F16
        Path h = rawFile(dir.resolve("half.safetensors"),
                "{\"W1\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                        + "\"b1\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,24]}}", 24);
        try (TinyNet m = new TinyNet(ops, 2, 0, 3, 0f, 1f, new Rng(1))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelIO.load(m, h));
            assertTrue(e.getMessage().contains("param 'W1': expected dtype F32 but found F16"), e.getMessage());
        }
    }

    @Test
    void truncatedModelFileLeavesModelUntouched() throws IOException {
        Path f = dir.resolve("t.safetensors");
        try (TinyNet a = new TinyNet(Backs.java(), 6, 4, 3, 0f, 1f, new Rng(1));
             TinyNet b = new TinyNet(Backs.java(), 6, 4, 3, 0f, 1f, new Rng(2))) {
            ModelIO.save(a, f);
            truncate(f, Files.size(f) - 4);
            List<int[]> before = b.params().stream().map(Param::value).map(SafeTensorsTest::bits).toList();
            SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> ModelIO.load(b, f));
            assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("byte offset"), e.getMessage());
            for (int i = 0; i < before.size(); i++) assertArrayEquals(before.get(i), bits(b.params().get(i).value()));
        }
    }

    @Test
    void aModelWithNonFiniteParametersIsNotLoaded() throws IOException {
        Path f = dir.resolve("nan.safetensors");
        try (TinyNet a = new TinyNet(Backs.java(), 6, 4, 3, 0f, 1f, new Rng(1));
             TinyNet b = new TinyNet(Backs.java(), 6, 4, 3, 0f, 1f, new Rng(2))) {
            a.paramMap().get(Legacy.name(a, "W2")).value().setFlat(3, Float.NaN);
            a.paramMap().get(Legacy.name(a, "b1")).value().setFlat(0, Float.POSITIVE_INFINITY);
            a.paramMap().get(Legacy.name(a, "b1")).value().setFlat(1, Float.NEGATIVE_INFINITY);
            ModelIO.save(a, f);
            List<int[]> before = b.params().stream().map(Param::value).map(SafeTensorsTest::bits).toList();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelIO.load(b, f));
            assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("'W2' holds 1 NaN or infinite")
                    && e.getMessage().contains("'b1' holds 2 NaN or infinite"), e.getMessage());
            for (int i = 0; i < before.size(); i++) assertArrayEquals(before.get(i), bits(b.params().get(i).value()));
        }
    }

    /** A folder given where a weights file is expected: every entry point's error names it (the JDK says only "Is a directory"). */
    @Test
    void aFolderGivenForAFileIsAnErrorNamingIt() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("model.safetensors"));
        List<IOException> errors = new ArrayList<>();
        errors.add(assertThrows(IOException.class, () -> SafeTensors.readHeader(folder)));
        errors.add(assertThrows(IOException.class, () -> SafeTensors.load(folder)));
        try (TinyNet net = new TinyNet(Backs.java(), 6, 4, 3, 0f, 1f, new Rng(1))) {
            errors.add(assertThrows(IOException.class, () -> ModelIO.load(net, folder)));
        }
        for (IOException e : errors) {
            assertTrue(e.getMessage().contains(folder.toString()) && e.getMessage().contains("is a directory"), e.getMessage());
        }
    }
}
