// Type declarations for the codec packages that ship none.
declare module "kafkajs-snappy" {
  import type { Codec } from "kafkajs";
  const SnappyCodec: () => Codec;
  export default SnappyCodec;
}
