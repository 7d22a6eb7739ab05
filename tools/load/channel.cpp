#include "channel.hpp"

namespace cpx::load {

std::shared_ptr<grpc::Channel> make_channel(const std::string& target, int index) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("cpx.load.connection", index);
    // A proxy named in the environment must not come between the load generator and a
    // server on the same machine.
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
    args.SetMaxReceiveMessageSize(64 << 20);
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

}  // namespace cpx::load
